# syntax=docker/dockerfile:1
#
# sysext-redirector: the bundled service and the built-in pattern table on
# Node.js 24 LTS, run as a non-root user.
#
#   docker build -t sysext-redirector .
#   docker run --rm -p 8080:8080 sysext-redirector
#   docker run --rm sysext-redirector explain /extensions/kubernetes-v1.32.2-x86-64.raw
#
# test/deploy/docker-start.test.ts replays the runtime stage without a Docker
# engine: it rebuilds the build stage from its own COPY and RUN lines, lays
# out the image as the runtime's COPY lines do and runs ENTRYPOINT + CMD.
# Keep those lines plain.

ARG NODE_IMAGE=node:24-bookworm-slim

# Bundles src/ and its dependencies into dist/ and warms V8's code cache for
# it by running the bundle once with this file's ENTRYPOINT flags
# (scripts/build.ts; the cache fits this Node and these flags only). The
# build reads the flags from this file, hence the COPY of the Dockerfile.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json Dockerfile ./
COPY scripts/build.ts ./scripts/
COPY deploy/tools/dockerfile.ts ./deploy/tools/
COPY tables ./tables
COPY src ./src
RUN npm run build

# What runs: the bundle, its code cache and the built-in table; no
# node_modules (everything is in the bundle), no npm in the command.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/dist ./dist
# The bundle, dist/lib/, finds the built-in table at ../../tables.
COPY tables ./tables
# The image's unprivileged `node` user, by number so that Kubernetes'
# runAsNonRoot can check it. Nothing is writable by it: the root filesystem
# may be mounted read-only.
USER 1000:1000
# 8080: the service (PORT). 9091: Prometheus metrics (METRICS_PORT), never public.
EXPOSE 8080 9091
# main.ts stops accepting on SIGTERM, lets requests in flight finish within
# SHUTDOWN_TIMEOUT (10s) and exits; give `docker stop --time` more than that.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 and gets the signals itself; arguments after the image name
# replace CMD, so `docker run IMAGE explain PATH` runs a CLI command.
# Memory: V8's young generation would grow to 32 MiB (Node 20) or 128 MiB
# (Node 24) under load, most of it dead requests: --max-semi-space-size=4
# (MiB) keeps it small; --optimize-for-size grows the heap less eagerly. With
# both, the service stays near 100 MB (99 to 103 MB on Node 20) after a million
# distinct paths instead of 130 MB or more, for a few per cent of throughput
# (bench/README.md).
# scripts/serve.sh, `npm start` and the benchmark use these same flags, and
# the build warms the code cache under them: V8 refuses a cache made under
# other flags (the service then compiles as it starts, about 0.3 s slower).
ENTRYPOINT ["node", "--max-semi-space-size=4", "--optimize-for-size", "dist/main.js"]
CMD ["serve"]
