import { AwsV4Signer } from 'aws4fetch';
import type { Config } from '../../src/config.ts';
import { upstreamFetch } from './upstream-fetch.ts';

/** An attribute value in DynamoDB's JSON wire format: only the types the stores write. */
export type AttributeValue = { S: string } | { N: string };
export type Item = Record<string, AttributeValue>;

/** An error DynamoDB answered with: `type` is the part of `__type` after the `#`. */
export class DynamoDbError extends Error {
  override name = 'DynamoDbError';
  readonly type: string;
  readonly status: number;
  constructor(type: string, status: number, message: string) {
    super(`${type}: ${message}`);
    this.type = type;
    this.status = status;
  }
}

export const conditionFailed = (error: unknown) =>
  error instanceof DynamoDbError && error.type === 'ConditionalCheckFailedException';

/** Runs one store operation under the outage policy (dynamodb-stores.ts). */
export type Run = (<T>(operation: () => Promise<T>) => Promise<T>) & { closing: boolean };

export type DynamoDbCall = <T = Record<string, unknown>>(action: string, input: object) => Promise<T>;

/**
 * DynamoDB's JSON API (`POST /` with `X-Amz-Target: DynamoDB_20120810.<Action>`), signed with
 * SigV4 by aws4fetch and sent over the gateway's node:http keep-alive fetch. Measured against the
 * AWS SDK v3 client (docs/lambda.md): about 2 ms of import instead of 100-130 ms, and a faster
 * first call. Each call is bounded by REDIS_TIMEOUT_MS, as every shared store's is.
 */
export function dynamoDbClient(config: Config): DynamoDbCall {
  const region = config.AWS_REGION ?? '';
  const url = config.DYNAMODB_ENDPOINT ?? `https://dynamodb.${region}.amazonaws.com/`;
  const { fetch } = upstreamFetch();
  const credentials = {
    accessKeyId: config.AWS_ACCESS_KEY_ID ?? '',
    secretAccessKey: config.AWS_SECRET_ACCESS_KEY ?? '',
    ...(config.AWS_SESSION_TOKEN ? { sessionToken: config.AWS_SESSION_TOKEN } : {}),
  };
  return async <T>(action: string, input: object): Promise<T> => {
    const body = JSON.stringify({ TableName: config.DYNAMODB_TABLE, ...input });
    const signed = await new AwsV4Signer({
      url,
      method: 'POST',
      service: 'dynamodb',
      region,
      ...credentials,
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDB_20120810.${action}`,
      },
      body,
    }).sign();
    const response = await fetch(signed.url, {
      method: 'POST',
      // Plain headers, as the upstream calls hand them (lower-case names).
      headers: Object.fromEntries(signed.headers),
      body,
      signal: AbortSignal.timeout(config.REDIS_TIMEOUT_MS),
    });
    const text = await response.text();
    if (response.ok) return JSON.parse(text) as T;
    let answer: { __type?: string; message?: string; Message?: string } = {};
    try {
      answer = JSON.parse(text);
    } catch {}
    const type = answer.__type?.split('#').pop() ?? `HTTP${response.status}`;
    throw new DynamoDbError(type, response.status, answer.message ?? answer.Message ?? text.slice(0, 200));
  };
}

export const str = (value: string): AttributeValue => ({ S: value });
export const num = (value: number): AttributeValue => ({ N: String(value) });
/** A number attribute's value, 0 when the item or the attribute is missing. */
export const numberOf = (item: Item | undefined, name: string) => {
  const value = item?.[name];
  return value && 'N' in value ? Number(value.N) : 0;
};
export const stringOf = (item: Item | undefined, name: string) => {
  const value = item?.[name];
  return value && 'S' in value ? value.S : '';
};
