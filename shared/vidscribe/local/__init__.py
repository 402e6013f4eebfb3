"""The embedded default: the local runtime that emulates Lambda's SQS event source, the embedded
PostgreSQL and SQS servers, the demo's media server and samples. None of it ships to Lambda."""
