# One image for the console and the workers (they share the workspace packages); the command picks the process.
# A GPU trainer needs the NVIDIA container runtime (docker-compose.yml reserves one GPU for the trainer service).
FROM node:20-bookworm AS base
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npx turbo run build --filter=@crucible/console
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1
EXPOSE 3000
CMD ["npm", "run", "start", "-w", "@crucible/console"]
