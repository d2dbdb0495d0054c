# Circle in a container: `docker build -t circle .`, then `docker run -p 8080:8080 circle`
# (or compose.yaml for two processes, Redis, coturn and HTTPS; docs/deploy.md).

# The pages' browser libraries (socket.io client, Chart.js), served from node_modules.
FROM node:22-slim AS browser-libraries
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 circle && mkdir /data && chown circle /data
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY rooms rooms
COPY server server
COPY static static
COPY --from=browser-libraries /app/node_modules node_modules
# Editable: the server finds static/ and node_modules/ beside its package, here in /app. The C
# compiler builds the media paths' compiled parts (server/media/*.c) and goes again.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install --no-cache-dir -e . \
    && apt-get purge -y --auto-remove gcc libc6-dev && rm -rf /var/lib/apt/lists/*
USER circle
ENV CIRCLE_HOST=0.0.0.0 CIRCLE_PORT=8080 CIRCLE_DATA_DIR=/data PYTHONUNBUFFERED=1
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["circle"]
CMD ["serve"]
