from fastapi import APIRouter, Depends
from pydantic import Field

from ...services.auth import create_key, list_keys, revoke_key
from ..deps import get_engine, get_principal
from ..schemas import DbId, StrictIn

router = APIRouter(tags=["keys"])


class KeyIn(StrictIn):
    name: str = Field(..., min_length=1, max_length=100)
    role: str = Field(..., pattern="^(reader|reviewer|admin)$")


@router.get("/keys")
def get_keys(engine=Depends(get_engine)) -> dict:
    """API keys (never their secrets)."""
    data = list_keys(engine)
    return {"data": data, "count": len(data)}


@router.post("/keys", status_code=201)
def post_key(body: KeyIn, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    """Create a key; the response holds the only copy of the secret."""
    return create_key(engine, body.name, body.role, actor=principal.name)


@router.post("/keys/{key_id}/revoke")
def post_revoke(key_id: DbId, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    """Revoke a key (its page sessions end too)."""
    return revoke_key(engine, key_id, actor=principal.name)
