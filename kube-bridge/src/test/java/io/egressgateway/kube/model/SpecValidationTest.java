package io.egressgateway.kube.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class SpecValidationTest {
  static final String BYO = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPPrefixes/p";

  static SgcSpec pool(boolean publicIps, String prefixId, List<String> cidrs) {
    return new SgcSpec("gwpool", null, null, publicIps, prefixId, cidrs);
  }

  @Test
  void upstreamSamplesAreValid() {
    assertTrue(SpecValidation.validate(pool(true, "", List.of())).isEmpty(), "managed prefix");
    assertTrue(SpecValidation.validate(pool(true, BYO, List.of())).isEmpty(), "BYO prefix");
    assertTrue(SpecValidation.validate(pool(false, "", List.of())).isEmpty(), "private");
    assertTrue(SpecValidation.validate(new SgcSpec("", new SgcSpec.Vmss("rg", "vmss", 31), "azureNetworking", true, "",
        List.of("10.0.0.0/8", "169.254.169.254/32"))).isEmpty(), "vmss + azureNetworking");
    assertTrue(SpecValidation.validate(new SgcSpec("", new SgcSpec.Vmss("rg", "vmss", 0), null, false, "", null)).isEmpty(),
        "private mode needs no prefix length");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "both pools,          gwpool, rg, vmss, 31, true,  '',  10.0.0.0/8,  AmbiguousGatewayPool",
      "no pool,             '',     '', '',   0,  true,  '',  10.0.0.0/8,  MissingGatewayPool",
      "vmss without rg,     '',     '', vmss, 31, true,  '',  10.0.0.0/8,  InvalidVmssProfile",
      "prefix /24,          '',     rg, vmss, 24, true,  '',  10.0.0.0/8,  InvalidPrefixSize",
      "prefix /32,          '',     rg, vmss, 32, false, '',  10.0.0.0/8,  InvalidPrefixSize",
      "prefix id private,   gwpool, '', '',   0,  false, BYO, 10.0.0.0/8,  PrefixIdWithoutPublicIps",
      "cidr /33,            gwpool, '', '',   0,  true,  '',  10.0.0.0/33, InvalidExcludeCidr",
      "cidr no length,      gwpool, '', '',   0,  true,  '',  10.0.0.1,    InvalidExcludeCidr",
      "cidr octet 256,      gwpool, '', '',   0,  true,  '',  10.0.256.0/24, InvalidExcludeCidr",
      "cidr ipv6,           gwpool, '', '',   0,  true,  '',  fd00::/8,    InvalidExcludeCidr",
  })
  void invalidVariantsHaveSpecificReasons(String what, String pool, String rg, String vmss, int size, boolean publicIps,
      String prefixId, String cidr, String reason) {
    SgcSpec.Vmss profile = rg.isEmpty() && vmss.isEmpty() && size == 0 ? null : new SgcSpec.Vmss(rg, vmss, size);
    SgcSpec spec = new SgcSpec(pool, profile, null, publicIps, prefixId.equals("BYO") ? BYO : prefixId, List.of(cidr));
    assertEquals(reason, SpecValidation.validate(spec).orElseThrow().reason(), what);
  }

  @Test
  void emptyVmssProfileCountsAsAbsentLikeUpstream() {
    SgcSpec spec = new SgcSpec("gwpool", new SgcSpec.Vmss("", "", 0), null, true, "", List.of());
    assertTrue(SpecValidation.validate(spec).isEmpty());
  }

  @Test
  void cidrSyntax() {
    assertTrue(Cidrs.isIpv4Cidr("0.0.0.0/0"));
    assertTrue(Cidrs.isIpv4Cidr("192.168.1.0/24"));
    assertFalse(Cidrs.isIpv4Cidr("192.168.01.0/24"));
    assertFalse(Cidrs.isIpv4Cidr("192.168.1.0/24/1"));
    assertFalse(Cidrs.isIpv4Cidr("1.2.3/8"));
    assertFalse(Cidrs.isIpv4Cidr(""));
    assertFalse(Cidrs.isIpv4Cidr("10.0.0.0/03"));
    assertFalse(Cidrs.isIpv4Cidr(" 10.0.0.0/8"));
    assertTrue(Cidrs.isIpv4Cidr("255.255.255.255/32"));
  }
}
