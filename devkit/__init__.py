"""Development pieces that the tests, the benchmarks and the local stack share: a moto server on a
free port, AWS call counting, the burst driver.

Never shipped: Chalice packages ``app.py``, ``chalicelib/`` and ``requirements.txt`` only
(tests/infra/test_stack.py checks the deployment package). Tests and benchmarks import from here,
never from each other."""
