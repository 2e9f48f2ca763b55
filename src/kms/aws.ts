/**
 * sealed-session-store/kms/aws: keyset files wrapped by AWS KMS (envelope encryption; see
 * docs/kms.md). `@aws-sdk/client-kms` is an optional peer, loaded on the provider's first call:
 * importing this entry (or the root entry) never loads the AWS SDK.
 */
export { type AwsKmsProviderOptions, type KmsClientLike, awsKmsProvider } from '../keys/providers/aws-kms.js';
