package io.egressgateway.azure.model;

/**
 * How a gateway pool is found: by AKS nodepool name (tag {@code aks-managed-poolName} on a scale set in the
 * cloud-config resource group) or by an explicit scale set. The entity id is a stable string form.
 */
public record PoolRef(String nodepoolName, String vmssResourceGroup, String vmssName) {
  public static PoolRef nodepool(String name) {
    return new PoolRef(name, "", "");
  }

  public static PoolRef scaleSet(String resourceGroup, String name) {
    return new PoolRef("", resourceGroup, name);
  }

  public boolean byNodepool() {
    return !nodepoolName.isEmpty();
  }

  public String entityId() {
    return byNodepool() ? "nodepool:" + nodepoolName : "vmss:" + vmssResourceGroup + "/" + vmssName;
  }

  public static PoolRef parse(String entityId) {
    if (entityId.startsWith("nodepool:") && entityId.length() > 9) {
      return nodepool(entityId.substring(9));
    }
    if (entityId.startsWith("vmss:") && entityId.indexOf('/') > 5) {
      String rest = entityId.substring(5);
      int slash = rest.indexOf('/');
      return scaleSet(rest.substring(0, slash), rest.substring(slash + 1));
    }
    throw new IllegalArgumentException("not a pool id: " + entityId + " (expected nodepool:<name> or vmss:<rg>/<name>)");
  }
}
