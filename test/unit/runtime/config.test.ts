import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, configSchema, loadConfig, projectRoot } from '../../../runtime/config';
import { temporalSettings } from '../../../runtime/services';

describe('configuration', () => {
  it('fills every default from an empty environment', () => {
    const config = loadConfig({});
    expect(config.KEYFLOW_API_PORT).toBe(3000);
    expect(config.TEMPORAL_NAMESPACE).toBe('keyflow');
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it("keeps the Temporal dev server's web UI off unless KEYFLOW_TEMPORAL_UI=true (it has no login and can terminate instances)", () => {
    expect(temporalSettings(loadConfig({})).headless).toBe(true);
    expect(temporalSettings(loadConfig({ KEYFLOW_TEMPORAL_UI: 'true' })).headless).toBe(false);
  });

  it.each([
    ['KEYFLOW_API_PORT', 'eighty'],
    ['KEYFLOW_PG_PORT', '70000'],
    ['DATABASE_URL', 'mysql://somewhere/db'],
    ['LOG_LEVEL', 'chatty'],
    ['KEYFLOW_PG_DATABASE', 'Robert"); DROP TABLE'],
  ])('names %s when its value is malformed', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: `));
  });

  it('never echoes the value of a connection string back', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres-ish://user:secret@host/db' })).toThrow(/DATABASE_URL/);
    try {
      loadConfig({ DATABASE_URL: 'postgres-ish://user:secret@host/db' });
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
  });

  it('refuses a TLS client certificate without its key', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: '/tmp/client.pem' })).toThrow(/TEMPORAL_TLS_KEY/);
  });

  it('is documented variable for variable in .env.example', () => {
    const documented = new Set(
      fs
        .readFileSync(path.join(projectRoot, '.env.example'), 'utf8')
        .split('\n')
        .map((line) => /^#?\s*([A-Z][A-Z0-9_]+)=/.exec(line)?.[1])
        .filter(Boolean),
    );
    const undocumented = Object.keys(configSchema.shape).filter((variable) => !documented.has(variable));
    expect(undocumented).toEqual([]);
  });
});
