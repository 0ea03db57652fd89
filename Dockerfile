# One image for the backoffice, the ingress, the worker, the inbox and the starter
# (docker-compose.yml picks the command). The `otlp` extra: traces to the collector.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY common common
COPY domain domain
COPY workflows workflows
COPY activities activities
COPY adapters adapters
COPY wire wire
COPY ingress ingress
COPY backoffice backoffice
COPY devstack devstack
COPY cli cli
COPY inbox inbox
COPY examples examples
COPY deploy/healthcheck.py deploy/replay.py deploy/
COPY worker.py starter.py ./
RUN pip install --no-cache-dir '.[otlp]'
ENV PYTHONUNBUFFERED=1
CMD ["python", "worker.py"]
