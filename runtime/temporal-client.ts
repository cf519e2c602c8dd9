import { Client, Connection } from '@temporalio/client';
import type { Config } from './config';
import { temporalConnectionOptions } from './services/temporal';

/** A Temporal client for the configured cluster (the services manager has set TEMPORAL_ADDRESS). */
export async function createTemporalClient(config: Config): Promise<Client> {
  const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.KEYFLOW_TEMPORAL_PORT}`;
  const connection = await Connection.connect(
    temporalConnectionOptions(
      {
        tls: { cert: config.TEMPORAL_TLS_CERT, key: config.TEMPORAL_TLS_KEY, ca: config.TEMPORAL_TLS_CA, serverName: config.TEMPORAL_TLS_SERVER_NAME },
        apiKey: config.TEMPORAL_API_KEY,
      },
      address,
    ),
  );
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}
