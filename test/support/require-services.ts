// Integration tests talk to the PostgreSQL and Temporal that `keyflow test` started; run alone
// (`npx jest test/integration/...`), they would fail in confusing ways, so say so plainly.
for (const variable of ['DATABASE_URL', 'TEMPORAL_ADDRESS']) {
  if (!process.env[variable]) {
    throw new Error(`${variable} is not set: run integration tests through \`npm test\` (or \`node bin/keyflow.js test -- <jest args>\`), which starts the services they need`);
  }
}
