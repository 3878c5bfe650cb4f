/**
 * Which client key created each stored response, and whether its usage is still to be accounted.
 * Behind one upstream key every client's responses sit in one OpenAI project, so a response id
 * alone would let any client read, cancel or delete another's, or continue from it: with client
 * keys configured, the gateway answers only the key that created the id. A background response
 * has no usage yet when it is created: it is remembered `unsettled`, and the first request that
 * sees it finished (a retrieval, a replay) claims it and settles its usage, once across every
 * instance. Entries expire after RESPONSE_OWNER_TTL_SECONDS (OpenAI keeps a stored response 30
 * days by default).
 */
export interface ResponseOwnerStore {
  /** `keyId` is '' when the gateway is open (no client keys): then only `unsettled` matters. */
  remember(responseId: string, entry: { keyId: string; unsettled: boolean }): Promise<void>;
  /** The key id that created the response ('' when open); null when unknown or expired. */
  ownerOf(responseId: string): Promise<string | null>;
  /** True for the one caller that claims a response remembered unsettled; false for any other. */
  claimUnsettled(responseId: string): Promise<boolean>;
}
