# tsplay as a container: the controller for one shard of a Kubernetes Indexed Job
# (`tsplay job ... --image IMAGE`, README "Sharding"), or for any run:
#
#   docker build -t registry.example/tsplay:0.1.0 .        (or podman build; CI: test/install/image.sh)
#   docker run --rm -v ~/.ssh:/home/node/.ssh:ro registry.example/tsplay:0.1.0 playbooks/worker.yml -i prod --check
#
# The image holds the engine (dist/) and this project's roles/, playbooks/ and inventories/, so
# `-i prod` and `playbooks/worker.yml` mean the same as in the repository. No credential is in it:
# the SSH key, known_hosts and kubeconfig are mounted at run time (~ is /home/node).

# BASE: the Node image both stages start from (Node >= 20.19, npm, a `node` user with uid 1000).
# Upstream's by default. CI, where no container registry is reachable, passes one made from a
# debootstrap Debian 12 and the machine's own node (test/install/image.sh).
ARG BASE=node:20-slim

FROM ${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts
COPY engine/ engine/
# build = tsc, then the schemas precompiled to standalone validators (engine/schema/precompile.ts)
RUN npm run build

FROM ${BASE}
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# ssh2's optional native crypto is not built (no compiler here); ssh2 works without it.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist/ dist/
COPY roles/ roles/
COPY playbooks/ playbooks/
COPY inventories/ inventories/
# The image's `node` user (uid 1000): the Job's securityContext runs as it, too.
USER node
ENTRYPOINT ["node", "/app/dist/engine/cli.js"]
CMD ["--help"]
