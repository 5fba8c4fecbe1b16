"""The AWS deployment of the claims intake service: a CDK v2 app built around Chalice's CDK construct.

Everything it creates is derived from the definitions the code itself uses (PynamoDB models,
``chalicelib.adapters.resources``, the Chalice app's decorators, ``.chalice/config.json``), so the
local moto stack, the tests and AWS cannot drift apart. ``app.py`` is the entry point
(``make synth`` / ``make deploy``); ``stack.py`` the stack.
"""
