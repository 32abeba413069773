package io.egressgateway.azure.infra;

import com.azure.core.management.AzureEnvironment;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Which Azure cloud the controller talks to: Resource Manager's endpoint, the sign-in (Azure AD) authority
 * and the token audience. The cloud config's {@code cloud} field selects it, with the Go original's names:
 * {@code AzurePublicCloud} (the default), the sovereign {@code AzureChinaCloud} and
 * {@code AzureUSGovernmentCloud}, and {@code AzureStackCloud}, whose endpoints come from the environment
 * file that {@code AZURE_ENVIRONMENT_FILEPATH} names (cloud-provider-azure's format: {@code name},
 * {@code resourceManagerEndpoint}, {@code activeDirectoryEndpoint}, optional {@code tokenAudience}), as on
 * Azure Stack Hub and other clouds the SDK does not know.
 *
 * @param name the cloud's name
 * @param environment the SDK's environment (ARM endpoint and token audience)
 * @param authorityHost the sign-in endpoint
 * @param custom true for a cloud from an environment file: its authority is not one Azure AD's instance
 *     discovery knows, so the credentials skip that discovery
 */
public record AzureCloud(String name, AzureEnvironment environment, String authorityHost, boolean custom) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static final AzureCloud PUBLIC = known("AzurePublicCloud", AzureEnvironment.AZURE);

  /** The cloud {@code config} names; {@code environmentFile} (may be null) is read for AzureStackCloud. */
  public static AzureCloud of(CloudConfig config, Path environmentFile) {
    String cloud = config.cloud().isBlank() ? "AzurePublicCloud" : config.cloud().trim();
    return switch (cloud.toUpperCase(Locale.ROOT)) {
      case "AZUREPUBLICCLOUD", "AZURECLOUD" -> PUBLIC;
      case "AZURECHINACLOUD" -> known("AzureChinaCloud", AzureEnvironment.AZURE_CHINA);
      case "AZUREUSGOVERNMENTCLOUD", "AZUREUSGOVERNMENT" -> known("AzureUSGovernmentCloud", AzureEnvironment.AZURE_US_GOVERNMENT);
      case "AZURESTACKCLOUD" -> {
        if (environmentFile == null) {
          throw new IllegalArgumentException("the cloud config names AzureStackCloud: set AZURE_ENVIRONMENT_FILEPATH to the file"
              + " with its endpoints (resourceManagerEndpoint, activeDirectoryEndpoint; the chart's azure.customCloud values)");
        }
        yield fromFile(environmentFile);
      }
      default -> throw new IllegalArgumentException("unknown cloud '" + cloud + "': use AzurePublicCloud, AzureChinaCloud,"
          + " AzureUSGovernmentCloud, or AzureStackCloud with an environment file");
    };
  }

  /** A cloud of its own, from cloud-provider-azure's environment file. */
  public static AzureCloud fromFile(Path file) {
    JsonNode n;
    try {
      n = JSON.readTree(Files.readString(file));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the Azure environment file " + file + ": " + e.getMessage(), e);
    }
    if (n == null || !n.isObject()) {
      throw new IllegalArgumentException("the Azure environment file " + file + " is not a JSON object");
    }
    return custom(n.path("name").asText("AzureStackCloud"), n.path("resourceManagerEndpoint").asText(""),
        n.path("activeDirectoryEndpoint").asText(""), n.path("tokenAudience").asText(""));
  }

  /**
   * A cloud at {@code resourceManager} (https URL) whose sign-in endpoint is {@code activeDirectory};
   * tokens are asked for {@code audience} (empty: the Resource Manager endpoint).
   */
  public static AzureCloud custom(String name, String resourceManager, String activeDirectory, String audience) {
    String arm = baseUrl("resourceManagerEndpoint", resourceManager);
    String aad = baseUrl("activeDirectoryEndpoint", activeDirectory);
    String aud = audience == null || audience.isBlank() ? arm : audience.endsWith("/") ? audience : audience + "/";
    Map<String, String> ep = new HashMap<>(AzureEnvironment.AZURE.getEndpoints());
    ep.put("resourceManagerEndpointUrl", arm);
    ep.put("managementEndpointUrl", aud);
    ep.put("activeDirectoryEndpointUrl", aad);
    ep.put("activeDirectoryResourceId", aud);
    return new AzureCloud(name, new AzureEnvironment(ep), aad, true);
  }

  /** The Resource Manager endpoint, ending with a slash. */
  public String resourceManagerEndpoint() {
    return environment.getResourceManagerEndpoint();
  }

  private static AzureCloud known(String name, AzureEnvironment env) {
    return new AzureCloud(name, env, env.getActiveDirectoryEndpoint(), false);
  }

  private static String baseUrl(String field, String url) {
    if (url == null || url.isBlank()) {
      throw new IllegalArgumentException("the Azure environment needs " + field);
    }
    URI u;
    try {
      u = URI.create(url.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + " is not a URL: " + url, e);
    }
    if (!"https".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
      throw new IllegalArgumentException(field + " must be an https URL: " + url);
    }
    String s = u.toString();
    return s.endsWith("/") ? s : s + "/";
  }

  @Override
  public String toString() {
    return name + " (Resource Manager " + resourceManagerEndpoint() + ", sign-in " + authorityHost + ")";
  }
}
