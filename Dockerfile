# One image for every StreamMesh process: the registry, the quality monitor, the CLTV processor,
# the domains' generators and the `streammesh` CLI. docker-compose.yml picks the command.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The checkout stays in /app, read-only to the service user: the generators and the CLTV
# processor read the Avro contracts, descriptors and model from it (schemas/, domains/),
# which the installed wheel does not carry.
COPY pyproject.toml README.md ./
COPY streammesh ./streammesh
COPY services ./services
COPY domains ./domains
COPY schemas ./schemas

# Every dependency has a binary wheel: no compiler, no dev tools in the image.
RUN pip install . \
    && rm -rf build streammesh.egg-info \
    && useradd --create-home --uid 10001 --user-group streammesh

# `python -m domains...` and `streammesh product apply domains` resolve against /app.
ENV PYTHONPATH=/app
USER streammesh

CMD ["streammesh", "--help"]
