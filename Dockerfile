# Clipcast image for the distributed mode (docker-compose.yml): one image, the command picks the role
# (`clipcast serve`, `clipcast worker`, `clipcast scheduler`, `clipcast db upgrade`).
ARG DENO_VERSION=2.9.3

# yt-dlp needs a JavaScript runtime for full YouTube support; only the static binary is copied.
FROM denoland/deno:bin-${DENO_VERSION} AS deno

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLIPCAST_DATA_DIR=/data

# ffmpeg renders, espeak-ng generates the demo's speech, the fonts draw captions; tini reaps ffmpeg children.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ffmpeg espeak-ng fonts-dejavu-core fonts-noto-core fonts-noto-color-emoji tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

COPY --from=deno /deno /usr/local/bin/deno

WORKDIR /app
# Dependencies first (cached while only the code changes): install the project's requirements from
# pyproject.toml with an empty package, then the code itself.
COPY pyproject.toml README.md ./
RUN mkdir -p clipcast core plugins && touch clipcast/__init__.py core/__init__.py plugins/__init__.py \
 && pip install . \
 && pip uninstall -y clipcast \
 && rm -rf clipcast core plugins build *.egg-info

COPY clipcast ./clipcast
COPY core ./core
COPY plugins ./plugins
# A regular (not editable) install, as users get it: the built-in caption styles, brand kits and fonts are
# package data; config/ is not needed at run time (`clipcast config example` prints the example).
RUN pip install --no-deps . \
 && rm -rf /app/clipcast /app/core /app/plugins /app/build /app/*.egg-info \
 && useradd --system --create-home --uid 10001 --home-dir /home/clipcast clipcast \
 && mkdir -p /data \
 && chown clipcast:clipcast /data

USER clipcast
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["clipcast", "serve"]
