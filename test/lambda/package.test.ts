import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('npm run package:lambda', () => {
  it('packages offline: only the bundle in the zip, a streaming Function URL, both public permissions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gateway-package-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const { code, output } = await run('npm', ['run', 'package:lambda', '--', '--package', dir]);
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
    // The key is a dynamic reference CloudFormation resolves at deploy time, never a value.
    const { Variables: variables } = properties.Environment as { Variables: Record<string, string> };
    expect(variables.OPENAI_API_KEY).toMatch(/^\{\{resolve:secretsmanager:/);

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

    // The bundle and the chunks it loads on demand; no sources, no node_modules.
    const entries = zipEntries(await readFile(join(dir, 'openai-stream-gateway.zip')));
    expect(entries).toContain('dist/lambda/index.mjs');
    for (const entry of entries) expect(entry).toMatch(/^dist\/lambda\/(index|chunks\/[\w-]+)\.mjs$/);
  }, 90_000);
});

/** Names in a zip's central directory (signature PK\x01\x02; name length at +28, name at +46). */
function zipEntries(zip: Buffer): string[] {
  const names: string[] = [];
  for (let at = zip.indexOf('PK\x01\x02'); at !== -1; at = zip.indexOf('PK\x01\x02', at + 46)) {
    names.push(zip.subarray(at + 46, at + 46 + zip.readUInt16LE(at + 28)).toString());
  }
  return names;
}

function run(command: string, args: string[]) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
