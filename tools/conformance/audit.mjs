// Runs the graphql-http server audits (GraphQL-over-HTTP conformance) against a live URL.
//
//   node audit.mjs http://127.0.0.1:8000/graphql
//
// Prints one line per audit and a closing `audit: N ok, N warn, N error` line. Exits 1
// when any audit is not `ok` (warnings and notices count as failures), 2 on bad usage
// or when the audit itself could not run, 0 otherwise.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url || process.argv.length > 3) {
  console.error('usage: node audit.mjs URL   (e.g. http://127.0.0.1:8000/graphql)');
  process.exit(2);
}
try {
  new URL(url);
} catch {
  console.error(`audit: not a URL: ${url}`);
  process.exit(2);
}

let results;
try {
  results = await auditServer({ url });
} catch (error) {
  // auditServer throws only on fatal problems, e.g. the server cannot be reached.
  console.error(`audit: could not run against ${url}: ${error?.stack ?? error}`);
  process.exit(2);
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  const line = `${result.status.padEnd(6)} ${result.id} ${result.name}`;
  if (result.status === 'ok') {
    console.log(line);
  } else {
    const reason = String(result.reason).replace(/\n/g, '\n         ');
    console.log(`${line}\n       reason: ${reason}`);
  }
}

const notices = counts.notice ? `, ${counts.notice} notice` : '';
console.log(`audit: ${counts.ok} ok, ${counts.warn} warn, ${counts.error} error${notices}`);
process.exit(results.length > 0 && counts.ok === results.length ? 0 : 1);
