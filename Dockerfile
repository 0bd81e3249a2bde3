# authzd's container image: the CLI (`authzd serve` by default, `authzd control-plane`, ...) on Node.js 20.
#
#   docker build -t authzd:0.1.0 .
#
# deploy/kubernetes runs it as uid 1000 with a read-only root filesystem; docs/kubernetes.md covers loading
# it into a cluster. test/integration/kubernetes.test.ts checks this file (sources exist, non-root user,
# entrypoint).

# Build: all dependencies, compile TypeScript to dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, without the build's compiler and test tools.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Runtime: node, production node_modules, the compiled CLI, the protos it loads at start-up and the
# example policies (the default policy directory).
FROM node:20-bookworm-slim
ENV NODE_ENV=production
# glibc gives every thread that allocates its own malloc arena (up to 8 per core), and Node's threads (libuv
# pool, V8 helpers, the compile worker) each touch one: two arenas keep ~40 MiB less resident under the warm
# load at no measured CPU cost (docs/BENCHMARKS.md, "Memory").
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY proto ./proto
COPY policies ./policies
# Numeric, so Kubernetes' runAsNonRoot can verify it (the image's `node` user is 1000).
USER 1000:1000
EXPOSE 9191 9192
# No V8 flags here: authzd sets the one it needs (--no-turbo-inline-js-wasm-calls, src/cedar/engine-flags.ts)
# itself at start, before Cedar loads, because NODE_OPTIONS refuses that flag.
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
