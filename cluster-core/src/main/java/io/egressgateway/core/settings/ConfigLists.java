package io.egressgateway.core.settings;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.List;

/**
 * Lists in the configuration as the environment carries them too: a HOCON list, or one string (what an
 * {@code ${?EGRESS_...}} substitution yields), each element itself comma-separated. Blank items are dropped,
 * so an empty string is an empty list.
 */
public final class ConfigLists {
  private ConfigLists() {}

  public static List<String> strings(Config c, String path) {
    List<String> raw = c.getValue(path).valueType() == ConfigValueType.LIST ? c.getStringList(path) : List.of(c.getString(path));
    List<String> out = new ArrayList<>();
    for (String s : raw) {
      for (String part : s.split(",")) {
        if (!part.isBlank()) {
          out.add(part.trim());
        }
      }
    }
    return out;
  }
}
