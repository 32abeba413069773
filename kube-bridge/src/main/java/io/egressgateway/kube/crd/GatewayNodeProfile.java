package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Objects;

/** One gateway node of an SGC (our addition to the status): node name, primary IP, secondary (SNAT) IP. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class GatewayNodeProfile {
  private String nodeName;
  private String primaryIP;
  private String secondaryIP;

  public GatewayNodeProfile() {}

  public GatewayNodeProfile(String nodeName, String primaryIP, String secondaryIP) {
    this.nodeName = nodeName;
    this.primaryIP = primaryIP;
    this.secondaryIP = secondaryIP;
  }

  public String getNodeName() {
    return nodeName;
  }

  public void setNodeName(String value) {
    this.nodeName = value;
  }

  public String getPrimaryIP() {
    return primaryIP;
  }

  public void setPrimaryIP(String value) {
    this.primaryIP = value;
  }

  public String getSecondaryIP() {
    return secondaryIP;
  }

  public void setSecondaryIP(String value) {
    this.secondaryIP = value;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GatewayNodeProfile p
        && Objects.equals(nodeName, p.nodeName)
        && Objects.equals(primaryIP, p.primaryIP)
        && Objects.equals(secondaryIP, p.secondaryIP);
  }

  @Override
  public int hashCode() {
    return Objects.hash(nodeName, primaryIP, secondaryIP);
  }
}
