from pathlib import Path
from typing import Optional

from fastapi import APIRouter, Depends, File, Form, UploadFile

from ...errors import InputError
from ...services.imports import import_file
from ..deps import get_engine
from ..schemas import ImportOut

router = APIRouter(tags=["imports"])


@router.post("/imports", response_model=ImportOut, status_code=201)
def post_import(
    file: UploadFile = File(..., description="CSV, XLSX or JSON"),
    format: Optional[str] = Form(None, description="upr-info | uhri | thematic-list | csv | xlsx | json"),
    map: Optional[str] = Form(None, description="column mapping, e.g. text=Recommendation,country=State"),
    encoding: Optional[str] = Form(None),
    source: Optional[str] = Form(None, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$",
                                 description="as in POST /v1/recommendations; default: the format's own"),
    engine=Depends(get_engine),
):
    """Import a file (idempotent: the same file twice adds nothing)."""
    limit = engine.settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"file is larger than {limit // (1024 * 1024)} MB", field="file")
    if not data:
        raise InputError("the uploaded file is empty", field="file")
    name = file.filename or "upload"
    try:
        res = import_file(engine, name, data=data, fmt=format, mapping=map, encoding=encoding, source=source,
                          actor="api")
    except InputError as e:
        if e.field == Path(name).name:  # the readers name the file (the CLI's one line); here it is the form field
            e.message, e.field = f"{e.field}: {e.message}", "file"
        raise
    return res.to_dict()
