package io.egressgateway.azure.infra;

import com.azure.core.credential.TokenCredential;
import com.azure.core.http.HttpClient;
import com.azure.identity.ClientCertificateCredentialBuilder;
import com.azure.identity.ClientSecretCredentialBuilder;
import com.azure.identity.ManagedIdentityCredentialBuilder;
import com.azure.identity.WorkloadIdentityCredentialBuilder;

/**
 * Builds the azure-identity credential the cloud config selects, signing in at {@code azure}'s authority
 * (without Azure AD's instance discovery for a custom cloud, whose authority it does not know).
 */
public final class Credentials {
  private Credentials() {}

  public static TokenCredential from(CloudConfig c, AzureCloud azure, HttpClient http) {
    String authorityHost = azure.authorityHost();
    boolean custom = azure.custom();
    return switch (c.auth()) {
      case CLIENT_SECRET -> {
        var b = new ClientSecretCredentialBuilder().tenantId(c.tenantId()).clientId(c.aadClientId()).clientSecret(c.aadClientSecret());
        b.authorityHost(authorityHost);
        if (custom) {
          b.disableInstanceDiscovery();
        }
        yield b.httpClient(http).build();
      }
      case CLIENT_CERTIFICATE -> {
        var b = new ClientCertificateCredentialBuilder().tenantId(c.tenantId()).clientId(c.aadClientId());
        if (c.aadClientCertPath().endsWith(".pem")) {
          b.pemCertificate(c.aadClientCertPath());
        } else {
          b.pfxCertificate(c.aadClientCertPath()).clientCertificatePassword(c.aadClientCertPassword());
        }
        b.authorityHost(authorityHost);
        if (custom) {
          b.disableInstanceDiscovery();
        }
        yield b.httpClient(http).build();
      }
      case MANAGED_IDENTITY -> {
        var b = new ManagedIdentityCredentialBuilder();
        if (!c.userAssignedIdentityId().isEmpty()) {
          b.clientId(c.userAssignedIdentityId());
        }
        yield b.httpClient(http).build();
      }
      case WORKLOAD_IDENTITY -> {
        var b = new WorkloadIdentityCredentialBuilder().tenantId(c.tenantId()).clientId(c.aadClientId())
            .tokenFilePath(c.federatedTokenFile());
        b.authorityHost(authorityHost);
        if (custom) {
          b.disableInstanceDiscovery();
        }
        yield b.httpClient(http).build();
      }
    };
  }
}
