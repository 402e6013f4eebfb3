"""The vidscribe CDK app: one stack with the queues, the three functions, the schedule, the secrets,
the dashboard and the alarms. Entry point: ``infra/app.py`` (``cdk.json``'s ``app``)."""
