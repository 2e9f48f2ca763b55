// A consumer of ./kms/aws without the AWS SDK installed: the provider is created and checked, and
// its first KMS call says which package to install (the SDK is an optional peer, loaded on use).
import { isSessionStoreError } from 'sealed-session-store';
import { type AwsKmsProviderOptions, awsKmsProvider } from 'sealed-session-store/kms/aws';

async function main(): Promise<string> {
  const options: AwsKmsProviderOptions = { keyId: 'alias/sessions', region: 'eu-west-1', keysetName: 'consumer' };
  const provider = awsKmsProvider(options);
  let code = '';
  try {
    await provider.wrap(new TextEncoder().encode('{"keys":[]}'), new TextEncoder().encode('aad'));
  } catch (err) {
    if (isSessionStoreError(err, 'backend_unavailable') && err.message.includes('@aws-sdk/client-kms')) code = err.code;
  }
  return `provider=${provider.name} without-sdk=${code}`;
}

main().then((detail) => console.log(`ok ${detail}`));
