"""Claims intake: the Chalice app. Registers blueprints and middleware, nothing else."""
from chalice import Chalice

from chalicelib.adapters.resources import APP_NAME
from chalicelib.api.agent import bp as agent
from chalicelib.api.claim_form import bp as claim_form
from chalicelib.api.connect import bp as connect
from chalicelib.api.http import http_middleware
from chalicelib.api.ivr_events import bp as ivr_events
from chalicelib.api.openapi import bp as openapi
from chalicelib.api.pages import bp as pages
from chalicelib.api.partner_claims import bp as partner_claims
from chalicelib.api.surveyors import bp as surveyors
from chalicelib.api.twilio_voice import bp as twilio_voice
from chalicelib.consumers.attachments import bp as attachments
from chalicelib.consumers.contacts import bp as contacts
from chalicelib.consumers.partner_notices import bp as partner_notices
from chalicelib.consumers.pipeline import bp as pipeline
from chalicelib.observability import observe

app = Chalice(app_name=APP_NAME)
app.register_middleware(observe, "all")
app.register_middleware(http_middleware, "http")
app.register_blueprint(partner_claims)
app.register_blueprint(claim_form)
app.register_blueprint(pages)
app.register_blueprint(twilio_voice)
app.register_blueprint(ivr_events)
app.register_blueprint(agent)
app.register_blueprint(surveyors)
app.register_blueprint(connect)
app.register_blueprint(pipeline)
app.register_blueprint(contacts)
app.register_blueprint(attachments)
app.register_blueprint(partner_notices)
app.register_blueprint(openapi)
