import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('npm run package:lambda', () => {
  it('packages offline: only the bundle in the zip, every setting but no secret in the template, a streaming Function URL, both public permissions, the shared table with TTL and a policy for it alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gateway-package-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    // An optional secret is set as docs/lambda.md shows: a dynamic reference passed as a param.
    const adminKeyReference =
      '{{resolve:secretsmanager:openai-stream-gateway/dev:SecretString:ADMIN_API_KEY}}';
    const { code, output } = await run(
      'npm',
      ['run', 'package:lambda', '--', '--package', dir, `--param=adminApiKey=${adminKeyReference}`],
      SHELL_SECRETS,
    );
    expect(code, output).toBe(0);

    const template = JSON.parse(
      await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'),
    );
    const resources = Object.values(template.Resources as Record<string, Resource>);
    const ofType = (type: string) => resources.filter((resource) => resource.Type === type);

    const functions = ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(1);
    const properties = functions[0]?.Properties ?? {};
    expect(properties).toMatchObject({
      Handler: 'dist/lambda/index.handler',
      Runtime: expect.stringMatching(/^nodejs(2[2-9]|[3-9]\d)\.x$/),
      Architectures: ['arm64'],
      Timeout: expect.any(Number),
      MemorySize: expect.any(Number),
    });
    // Secrets are dynamic references CloudFormation resolves at deploy time, or unset; never values,
    // not even those in the shell of whoever packages it.
    const { Variables: variables } = properties.Environment as { Variables: Record<string, string> };
    expect(variables.OPENAI_API_KEY).toMatch(DYNAMIC_REFERENCE);
    expect(variables.STREAM_TOKEN_SECRET).toMatch(DYNAMIC_REFERENCE);
    expect(variables.ADMIN_API_KEY).toBe(adminKeyReference);
    for (const [name, value] of Object.entries(variables)) {
      if (SECRET_NAME.test(name)) expect(value, name).toMatch(new RegExp(`^$|${DYNAMIC_REFERENCE.source}`));
    }
    const text = JSON.stringify(template);
    for (const secret of Object.values(SHELL_SECRETS)) expect(text).not.toContain(secret);

    // Every deploy setting reaches the function, with the app's own defaults where it has one.
    const defaults = loadConfig({});
    expect(variables).toMatchObject({
      NODE_ENV: 'production',
      PUBLIC_ACCESS: 'off',
      GATEWAY_API_KEYS: '',
      GATEWAY_API_KEY_HASHES: '',
      CORS_ORIGINS: '',
      ALLOWED_MODELS: '',
      METRICS_EMF: 'off',
      MAX_TOKENS_CAP: '4096',
    });
    for (const name of [
      'RATE_LIMIT_MAX',
      'RATE_LIMIT_WINDOW_MS',
      'TOKEN_LIMIT_MAX',
      'TOKEN_LIMIT_WINDOW_MS',
      'MAX_TOKENS_RULE',
      'REQUEST_TIMEOUT',
      'DEFAULT_MODEL',
      'LOG_LEVEL',
    ] as const) {
      expect(variables[name], name).toBe(String(defaults[name]));
    }

    expect(ofType('AWS::Lambda::Url').map((url) => url.Properties)).toEqual([
      expect.objectContaining({ AuthType: 'NONE', InvokeMode: 'RESPONSE_STREAM' }),
    ]);
    const permissions = ofType('AWS::Lambda::Permission').map((permission) => permission.Properties);
    expect(permissions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 'lambda:InvokeFunctionUrl',
          Principal: '*',
          FunctionUrlAuthType: 'NONE',
        }),
        expect.objectContaining({
          Action: 'lambda:InvokeFunction',
          Principal: '*',
          InvokedViaFunctionUrl: true,
        }),
      ]),
    );
    expect(Object.keys(template.Outputs)).toContain('GatewayLambdaFunctionUrl');

    // The shared store: one on-demand table with TTL on, its name passed to the function, and a
    // policy for exactly the calls the gateway makes, on that table only.
    const tables = Object.entries(template.Resources as Record<string, Resource>).filter(
      ([, resource]) => resource.Type === 'AWS::DynamoDB::Table',
    );
    expect(tables).toHaveLength(1);
    const [[tableId, table]] = tables as [[string, Resource & { Condition: string }]];
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    expect(template.Conditions[table.Condition]).toEqual({ 'Fn::Equals': ['on', 'on'] });
    expect(variables.DYNAMODB_TABLE).toEqual({ 'Fn::If': [table.Condition, { Ref: tableId }, ''] });
    const statements = ofType('AWS::IAM::Policy')
      .concat(ofType('AWS::IAM::Role'))
      .flatMap((resource) => {
        const { PolicyDocument, Policies = [] } = resource.Properties as {
          PolicyDocument?: { Statement: unknown[] };
          Policies?: { PolicyDocument: { Statement: unknown[] } }[];
        };
        return [PolicyDocument, ...Policies.map((policy) => policy.PolicyDocument)];
      })
      .flatMap((document) => (document?.Statement ?? []) as { Action: string[]; Resource: unknown }[]);
    const onTables = statements.filter((statement) =>
      [statement.Action].flat().some((action) => action.startsWith('dynamodb:')),
    );
    expect(onTables).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
        Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
      },
    ]);

    // The bundle and the chunks it loads on demand; no sources, no node_modules.
    const entries = zipEntries(await readFile(join(dir, 'openai-stream-gateway.zip')));
    expect(entries).toContain('dist/lambda/index.mjs');
    for (const entry of entries) expect(entry).toMatch(/^dist\/lambda\/(index|chunks\/[\w-]+)\.mjs$/);
  }, 90_000);
});

const DYNAMIC_REFERENCE = /^\{\{resolve:secretsmanager:[^}]+\}\}$/;
// Key hashes are digests, safe to publish; REDIS_URL may carry a password.
const SECRET_NAME = /^(?!GATEWAY_API_KEY_HASHES$).*(KEY|SECRET|PASSWORD|REDIS_URL)/;
const SHELL_SECRETS = {
  OPENAI_API_KEY: 'sk-shell-openai-key-0123456789',
  STREAM_TOKEN_SECRET: 'shell-stream-token-secret-0123456789abcdef',
  ADMIN_API_KEY: 'shell-admin-key-0123456789',
  GATEWAY_API_KEYS: 'shell:client-key-0123456789',
};

/** Names in a zip's central directory (signature PK\x01\x02; name length at +28, name at +46). */
function zipEntries(zip: Buffer): string[] {
  const names: string[] = [];
  for (let at = zip.indexOf('PK\x01\x02'); at !== -1; at = zip.indexOf('PK\x01\x02', at + 46)) {
    names.push(zip.subarray(at + 46, at + 46 + zip.readUInt16LE(at + 28)).toString());
  }
  return names;
}

function run(command: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let output = '';
    child.stdout.on('data', (data) => {
      output += data;
    });
    child.stderr.on('data', (data) => {
      output += data;
    });
    child.on('exit', (code) => resolve({ code, output }));
  });
}
