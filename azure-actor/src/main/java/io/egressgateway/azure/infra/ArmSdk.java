package io.egressgateway.azure.infra;

import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpHeaders;
import com.azure.core.http.policy.AddHeadersFromContextPolicy;
import com.azure.core.management.exception.ManagementException;
import com.azure.core.util.Context;
import io.egressgateway.azure.model.ArmFailure;
import io.egressgateway.azure.model.AzureNames;
import io.egressgateway.azure.model.PoolRef;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What {@link SdkArmPort}, {@link ScaleSetArm} and {@link VmPoolArm} share: how an SDK failure becomes an
 * {@link ArmFailure}, {@code If-Match}, 404 as absence, ids and tags. Owns and persists nothing.
 */
final class ArmSdk {
  private ArmSdk() {}

  /** The id of the shared ILB's backend pool of a pool ({@code uniqueId}: its frontend and backend pool name). */
  static String backendPoolId(CloudConfig cloud, String uniqueId) {
    return lbId(cloud) + "/backendAddressPools/" + uniqueId;
  }

  static String lbId(CloudConfig cloud) {
    return "/subscriptions/" + cloud.subscriptionId() + "/resourceGroups/" + cloud.loadBalancerResourceGroup()
        + "/providers/Microsoft.Network/loadBalancers/" + cloud.loadBalancerName();
  }

  /** Tagged {@code aks-managed-poolName} with the pool's name (tag key and value case-insensitive). */
  static boolean inPool(Map<String, String> tags, PoolRef pool) {
    return pool.byNodepool() && pool.nodepoolName().equalsIgnoreCase(tag(tags, AzureNames.POOL_TAG));
  }

  static String tag(Map<String, String> tags, String key) {
    return tags == null ? null : tags.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(key))
        .map(Map.Entry::getValue).findFirst().orElse(null);
  }


  static boolean isPoolOf(String poolId, String uniqueId) {
    return poolId != null && poolId.toLowerCase(Locale.ROOT).endsWith("/backendaddresspools/" + uniqueId.toLowerCase(Locale.ROOT));
  }

  static Context ifMatch(String etag) {
    return new Context(AddHeadersFromContextPolicy.AZURE_REQUEST_HTTP_HEADERS_KEY,
        new HttpHeaders().set(HttpHeaderName.IF_MATCH, etag));
  }

  static String resourceGroupOf(String id) {
    return id.split("/")[4];
  }

  static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }

  static <T> T required(T t, String what) {
    if (t == null) {
      throw new ArmFailure(ArmFailure.Kind.CONFLICT, "NotObserved", what + " was not observed before the write", null);
    }
    return t;
  }

  static <T> T getOrNull(Supplier<T> get) {
    try {
      return get.get();
    } catch (ManagementException e) {
      if (e.getResponse() != null && e.getResponse().getStatusCode() == 404) {
        return null;
      }
      throw e;
    }
  }

  /** Retry-After in seconds (or HTTP date, treated as unknown), zero when absent. */
  private static java.time.Duration retryAfter(ManagementException e) {
    String v = e.getResponse() == null ? null : e.getResponse().getHeaderValue(HttpHeaderName.RETRY_AFTER);
    if (v == null || !v.trim().matches("\\d{1,6}")) {
      return java.time.Duration.ZERO;
    }
    return java.time.Duration.ofSeconds(Long.parseLong(v.trim()));
  }

  static <T> T call(Supplier<T> body) {
    try {
      return body.get();
    } catch (ManagementException e) {
      int status = e.getResponse() == null ? 0 : e.getResponse().getStatusCode();
      String code = e.getValue() == null || e.getValue().getCode() == null ? String.valueOf(status) : e.getValue().getCode();
      String message = e.getValue() == null || e.getValue().getMessage() == null ? e.getMessage() : e.getValue().getMessage();
      // a 2xx here is the last poll of a long-running operation that ended Failed: ARM accepted the request,
      // so it is no rejection of ours; retried with backoff (Azure's own advice for such failures)
      ArmFailure.Kind kind = status == 412 || status == 409 && "AnotherOperationInProgress".equals(code) ? ArmFailure.Kind.CONFLICT
          : status >= 200 && status < 300 ? ArmFailure.Kind.OPERATION_FAILED
          : status == 429 ? ArmFailure.Kind.THROTTLED
          : status >= 500 || status == 0 ? ArmFailure.Kind.TRANSIENT
          : ArmFailure.Kind.REJECTED;
      throw new ArmFailure(kind, code, code + ": " + message, retryAfter(e), e);
    } catch (ArmFailure e) {
      throw e;
    } catch (RuntimeException e) {      throw new ArmFailure(ArmFailure.Kind.TRANSIENT, e.getClass().getSimpleName(), String.valueOf(e.getMessage()), e);
    }
  }
}
