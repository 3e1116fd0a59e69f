# The image the in-cluster power manager runs (IMAGES.vmstation in src/render/k8s/common.ts):
# `vmstation power controller --in-cluster`. It needs Node.js 20, the built CLI, ipmitool for
# IPMI wakes and nothing else (SSH is done by the ssh2 library, WoL by UDP from Node).
# Not built in CI: no Docker engine runs on the development machines (see README, "Limits").
FROM docker.io/library/node:20.19-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM docker.io/library/node:20.19-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ipmitool \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/vmstation
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY schema ./schema
RUN ln -s /opt/vmstation/bin/vmstation.js /usr/local/bin/vmstation
# The Deployment sets runAsUser 65532 and fsGroup 65532 (Secrets mounted 0440).
USER 65532:65532
ENTRYPOINT ["vmstation"]
CMD ["power", "controller", "--in-cluster"]
