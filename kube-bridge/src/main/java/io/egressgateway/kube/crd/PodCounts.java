package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.Objects;

/** How many of a configuration's running pods run its current generation (an addition to upstream's status). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class PodCounts {
  @JsonPropertyDescription("Running pods (with an established tunnel) that run the generation in observedGeneration.")
  private Integer current;

  @JsonPropertyDescription("Running pods of this configuration, on nodes whose agent is up.")
  private Integer total;

  public PodCounts() {}

  public PodCounts(Integer current, Integer total) {
    this.current = current;
    this.total = total;
  }

  public Integer getCurrent() {
    return current;
  }

  public void setCurrent(Integer value) {
    this.current = value;
  }

  public Integer getTotal() {
    return total;
  }

  public void setTotal(Integer value) {
    this.total = value;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PodCounts p && Objects.equals(current, p.current) && Objects.equals(total, p.total);
  }

  @Override
  public int hashCode() {
    return Objects.hash(current, total);
  }
}
