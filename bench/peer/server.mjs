// PostGraphile 5 (amber preset) served by Node's http module through grafserv: the peer
// system of the side-by-side benchmark (`python -m bench.run` starts and stops it).
//
//   DATABASE_URL=postgresql://... PORT=5678 node server.mjs
//
// Production-like: NODE_ENV=production and GRAPHILE_ENV=production (the bench sets both),
// no GraphiQL, no watch mode, no explain, no websockets; one process, a pool of at most
// PG_POOL_MAX (10, as Paved Road's default) connections. POST /graphql only. SIGTERM/SIGINT
// close the server and the pool.
import { createServer } from "node:http";

import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const connectionString = process.env.DATABASE_URL;
const port = Number.parseInt(process.env.PORT ?? "", 10);
const host = process.env.HOST ?? "127.0.0.1";
const poolMax = Number.parseInt(process.env.PG_POOL_MAX ?? "10", 10);

if (!connectionString || !Number.isInteger(port) || port <= 0) {
  console.error("peer: DATABASE_URL and PORT must be set");
  process.exit(2);
}

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({ connectionString, schemas: ["public"], poolConfig: { max: poolMax } }),
  ],
  grafserv: {
    graphqlPath: "/graphql",
    graphiql: false,
    graphiqlOnGraphQLGET: false,
    graphqlOverGET: false,
    watch: false,
    websockets: false,
  },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.keepAliveTimeout = 65_000;
server.on("error", (error) => {
  console.error("peer: server error", error);
  process.exit(1);
});

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`peer: ${signal}, stopping`);
  server.closeAllConnections?.();
  await new Promise((resolve) => server.close(() => resolve()));
  await pgl.release();
  process.exit(0);
}
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));

// Build the schema (introspection) before listening, so "listening" means "ready".
await pgl.getSchema();
await serv.addTo(server);
server.listen(port, host, () => {
  console.log(`peer: PostGraphile listening on http://${host}:${port}/graphql`);
});
