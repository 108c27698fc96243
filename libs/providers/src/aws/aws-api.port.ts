/** The few STS and IAM calls the aws provider makes; implemented over the AWS SDK in aws-sdk.adapter.ts. */
export interface AssumeRoleInput {
  region: string;
  roleArn: string;
  roleSessionName: string;
  durationSeconds: number;
  sourceIdentity: string;
  externalId?: string;
  policy?: string;
  policyArns?: string[];
  tags: { key: string; value: string }[];
}

export interface AssumedRole {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** ms since the epoch */
  expiration: number;
  assumedRoleArn?: string;
}

export interface AwsApi {
  assumeRole(input: AssumeRoleInput): Promise<AssumedRole>;
  /** The decoded policy document, or undefined when the role has no such inline policy. */
  getRolePolicy(roleName: string, policyName: string): Promise<string | undefined>;
  putRolePolicy(roleName: string, policyName: string, document: string): Promise<void>;
  /** Idempotent: a missing policy is not an error. */
  deleteRolePolicy(roleName: string, policyName: string): Promise<void>;
  /** The broker's own identity (health check). */
  callerIdentity(region: string): Promise<{ arn: string }>;
}
