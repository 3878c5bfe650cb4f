import { describe, expect, it } from 'vitest';
import { packagedTemplate } from './dynalite-server.ts';

describe('serverless.yml with dynamoDbStore=off (a deploy that prefers Redis)', () => {
  it('creates no table and no policy for one, and passes an empty DYNAMODB_TABLE', async () => {
    const template = await packagedTemplate({
      dynamoDbStore: 'off',
      redisUrl: 'rediss://cache.internal:6379',
    });
    // CloudFormation skips every resource and output whose condition is false.
    expect(template.Conditions?.SharedTable).toEqual({ 'Fn::Equals': ['off', 'on'] });
    const conditional = Object.entries(template.Resources).filter(
      ([, resource]) => resource.Type === 'AWS::DynamoDB::Table' || resource.Type === 'AWS::IAM::Policy',
    );
    expect(conditional.map(([, resource]) => resource.Condition)).toEqual(['SharedTable', 'SharedTable']);
    expect(template.Outputs?.GatewayTableName).toMatchObject({ Condition: 'SharedTable' });
    const fn = Object.values(template.Resources).find(
      (resource) => resource.Type === 'AWS::Lambda::Function',
    );
    expect(fn).toBeDefined();
    const { Variables: variables } = fn!.Properties.Environment as { Variables: Record<string, unknown> };
    expect(variables.DYNAMODB_TABLE).toEqual({ 'Fn::If': ['SharedTable', { Ref: 'GatewayTable' }, ''] });
    expect(variables.REDIS_URL).toBe('rediss://cache.internal:6379');
    // Packaging runs osls: seconds on an idle machine, many more on a loaded one.
  }, 90_000);
});
