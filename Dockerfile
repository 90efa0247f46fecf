# syntax=docker/dockerfile:1.7
# One image for every process of the pipeline (API, pools, scheduler, CLI); the compose file picks the
# command. Stages: dependencies with dev tools -> TypeScript build -> production dependencies only ->
# a slim runtime as a non-root user. The GPU variant (target runtime-gpu) adds the CUDA 12 + cuDNN 9
# runtime and onnxruntime-node's CUDA provider:
#   docker build --target runtime-gpu --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 -t listing-pipeline:gpu .
ARG NODE_IMAGE=node:20-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

FROM ${NODE_IMAGE} AS deps-dev
# Only the TypeScript build runs here: the CUDA provider is never needed, whatever the build arg says.
ENV ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund

FROM deps-dev AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
RUN npm run build

# onnxruntime-node's install script fetches the CUDA provider libraries from outside the npm registry;
# "skip" (the default) keeps the CPU provider only, "cuda12" installs the CUDA provider as well.
FROM ${NODE_IMAGE} AS deps-prod
ARG ONNXRUNTIME_NODE_INSTALL=skip
ENV ONNXRUNTIME_NODE_INSTALL=${ONNXRUNTIME_NODE_INSTALL}
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The files every runtime variant copies: built JS, production node_modules, migrations, web page.
FROM scratch AS app
COPY --from=deps-prod /app/node_modules /app/node_modules
COPY --from=build /app/dist /app/dist
COPY package.json /app/package.json
COPY migrations /app/migrations
COPY src/api/public /app/src/api/public

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    MODELS_DIR=/app/models \
    VAR_DIR=/app/var \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9100 \
    API_HOST=0.0.0.0 \
    API_PORT=8080
WORKDIR /app
COPY --from=app /app /app
# Code stays root-owned and read-only to the process; only models/ and var/ are writable.
RUN mkdir -p /app/models /app/var && chown node:node /app/models /app/var
USER node
EXPOSE 8080 9100
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||process.env.METRICS_PORT||9100)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/cli/main.js", "--help"]

FROM ${CUDA_IMAGE} AS runtime-gpu
# Node comes from the official image (same glibc family), so both variants run the same runtime.
COPY --from=runtime /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production \
    MODELS_DIR=/app/models \
    VAR_DIR=/app/var \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9100 \
    API_HOST=0.0.0.0 \
    API_PORT=8080 \
    ORT_PROVIDERS=cuda,cpu
# The same uid/gid as `node` in the CPU image (1000): both mount the shared `models` volume, whose owner
# is set by whichever container mounts it first, and the CLI (CPU image) must be able to write it. The
# Ubuntu base already has uid 1000 (`ubuntu`); add one only where it does not.
RUN { getent group 1000 >/dev/null || groupadd --gid 1000 app; } \
    && { getent passwd 1000 >/dev/null || useradd --uid 1000 --gid 1000 --no-create-home --shell /usr/sbin/nologin app; }
WORKDIR /app
COPY --from=app /app /app
# Built without --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 this image would run on the CPU only.
RUN test -f /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
    || { echo 'The CUDA provider of onnxruntime-node is missing: build with --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12.' >&2; exit 1; }
RUN mkdir -p /app/models /app/var && chown 1000:1000 /app/models /app/var
USER 1000:1000
EXPOSE 9100
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||process.env.METRICS_PORT||9100)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/workers/infer.js"]
