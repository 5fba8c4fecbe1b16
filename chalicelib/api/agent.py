"""Agent desk: the screen pop an agent sees as a call connects. Agent bearer token required."""
from __future__ import annotations

from urllib.parse import unquote

from chalicelib.api.http import ApiBlueprint, json_response
from chalicelib.api.views import screen_pop_view
from chalicelib.bootstrap import container
from chalicelib.observability import bind

bp = ApiBlueprint(__name__)


def agent_id() -> str:
    agent = container().agents.authenticate(bp.current_request.headers.get("authorization"))
    bind(agent_id=agent)
    return agent


@bp.route("/v1/agent/callers/{phone}", methods=["GET"])
def caller_screen_pop(phone: str):
    agent_id()
    pop = container().callers.screen_pop(unquote(phone))
    return json_response(screen_pop_view(pop), headers={"Cache-Control": "no-store"})
