"""Claims intake: the Chalice app. Registers blueprints and middleware, nothing else."""
from chalice import Chalice

from chalicelib.adapters.resources import APP_NAME
from chalicelib.api.http import http_middleware
from chalicelib.api.partner_claims import bp as partner_claims
from chalicelib.consumers.pipeline import bp as pipeline
from chalicelib.observability import observe

app = Chalice(app_name=APP_NAME)
app.register_middleware(observe, "all")
app.register_middleware(http_middleware, "http")
app.register_blueprint(partner_claims)
app.register_blueprint(pipeline)
