/**
 * Which client key created each stored response. Behind one upstream key every client's responses
 * sit in one OpenAI project, so a response id alone would let any client read, cancel or delete
 * another's, or continue from it: with client keys configured, the gateway answers only the key
 * that created the id. Entries expire after RESPONSE_OWNER_TTL_SECONDS (OpenAI keeps a stored
 * response 30 days by default).
 */
export interface ResponseOwnerStore {
  remember(responseId: string, keyId: string): Promise<void>;
  /** The key id that created the response; null when unknown or expired. */
  ownerOf(responseId: string): Promise<string | null>;
}
