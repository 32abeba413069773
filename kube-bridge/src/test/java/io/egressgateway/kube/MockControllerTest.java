package io.egressgateway.kube;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;

/**
 * What the controller end-to-end test classes share: fabric8's mock API server in CRUD mode (one per class), its
 * client, and the {@link MockController} a class starts in its {@code @BeforeAll} and this closes after its tests.
 */
@EnableKubernetesMockClient(crud = true)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class MockControllerTest {
  static final String RELEASE_NS = MockController.RELEASE_NS;
  static final String KEYS_NS = MockController.KEYS_NS;

  static KubernetesClient client;
  static KubernetesMockServer server;

  MockController ctl;

  @AfterAll
  void stopController() {
    if (ctl != null) {
      ctl.close();
    }
  }
}
