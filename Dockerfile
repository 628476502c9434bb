# memlens for real registries (the local cluster builds its image without Docker: cluster/images.sh).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# without the optional @kubernetes/client-node: in a pod memlens reads its ServiceAccount itself
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --omit=optional

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
# what `memlens demo` and `memlens crds` users find beside the program (found from the package root)
COPY crds ./crds
COPY config ./config
COPY examples/*.yaml ./examples/
COPY test/fixtures/cgroup-traces/v2-memory-high-then-oom.jsonl ./test/fixtures/cgroup-traces/
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
