/** The IAM Credentials call the gcp provider makes; implemented over @google-cloud/iam-credentials. */
export interface GenerateAccessTokenInput {
  serviceAccount: string;
  scopes: string[];
  delegates: string[];
  lifetimeSeconds: number;
}

export interface GcpApi {
  generateAccessToken(input: GenerateAccessTokenInput): Promise<{ accessToken: string; expireTime: number }>;
  /** Resolves the broker's own Google identity (Application Default Credentials) without minting anything. */
  checkIdentity?(): Promise<void>;
}
