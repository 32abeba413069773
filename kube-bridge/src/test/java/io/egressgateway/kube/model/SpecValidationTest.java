package io.egressgateway.kube.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class SpecValidationTest {
  static final String BYO = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPPrefixes/p";

  static SgcSpec pool(boolean publicIps, String prefixId, List<String> cidrs) {
    return new SgcSpec("gwpool", null, null, publicIps, prefixId, cidrs);
  }

  static Stream<Arguments> upstreamSamplesAreValid() {
    return Stream.of(
        Arguments.of("managed prefix", pool(true, "", List.of())),
        Arguments.of("BYO prefix", pool(true, BYO, List.of())),
        Arguments.of("private", pool(false, "", List.of())),
        Arguments.of("vmss + azureNetworking", new SgcSpec("", new SgcSpec.Vmss("rg", "vmss", 31), "azureNetworking", true, "",
            List.of("10.0.0.0/8", "169.254.169.254/32"))),
        Arguments.of("private mode needs no prefix length", new SgcSpec("", new SgcSpec.Vmss("rg", "vmss", 0), null, false, "", null)),
        Arguments.of("an empty vmss profile counts as absent, as upstream", new SgcSpec("gwpool", new SgcSpec.Vmss("", "", 0), null, true, "",
            List.of())));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource
  void upstreamSamplesAreValid(String what, SgcSpec spec) {
    assertEquals(java.util.Optional.empty(), SpecValidation.validate(spec), what);
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

  @ParameterizedTest(name = "''{0}'' is an IPv4 CIDR: {1}")
  @CsvSource({
      "0.0.0.0/0,          true",
      "192.168.1.0/24,     true",
      "255.255.255.255/32, true",
      "192.168.01.0/24,    false",
      "192.168.1.0/24/1,   false",
      "1.2.3/8,            false",
      "'',                 false",
      "10.0.0.0/03,        false",
      "' 10.0.0.0/8',      false",
  })
  void cidrSyntax(String text, boolean valid) {
    assertEquals(valid, Cidrs.isIpv4Cidr(text));
  }
}
