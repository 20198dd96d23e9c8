package dev.custody.tiles;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TilePathTest {
  @Test
  void specExamples() {
    // C2SP tlog-tiles: "index 1234067 will be encoded as x001/x234/067".
    assertEquals("tile/0/x001/x234/067", TilePath.tile(0, 1_234_067, 256).format());
    assertEquals("tile/1/000", TilePath.tile(1, 0, 256).format());
    assertEquals("tile/2/005.p/17", TilePath.tile(2, 5, 17).format());
    assertEquals("tile/entries/x001/000.p/255", TilePath.entries(1000, 255).format());
    assertEquals(
        Optional.of(TilePath.tile(0, 1_234_067, 256)), TilePath.parse("tile/0/x001/x234/067"));
    assertEquals(Optional.of(TilePath.entries(7, 3)), TilePath.parse("tile/entries/007.p/3"));
  }

  @Test
  void roundTripsAtRandom() {
    Random rnd = new Random(3);
    for (int i = 0; i < 20_000; i++) {
      long index = rnd.nextInt(4) == 0 ? rnd.nextLong() & Long.MAX_VALUE : rnd.nextInt(2_000_000);
      int width = 1 + rnd.nextInt(256);
      TilePath p =
          rnd.nextBoolean()
              ? TilePath.tile(rnd.nextInt(64), index, width)
              : TilePath.entries(index, width);
      assertEquals(Optional.of(p), TilePath.parse(p.format()), p.format());
    }
  }

  @Test
  void nonCanonicalPathsAreRefused() {
    for (String bad :
        List.of(
            "tile/0/1",
            "tile/0/01",
            "tile/0/0001",
            "tile/0/x000/005",
            "tile/0/001/234",
            "tile/0/x001",
            "tile/00/000",
            "tile/64/000",
            "tile/-1/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/010",
            "tile/0/000.p/",
            "tile/0/000.p",
            "tile/entries/000.p/1/2",
            "tile/x/000",
            "tile/0/",
            "tile/0/x01/000",
            "tile/0/abc",
            "/tile/0/000",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
            "checkpoint",
            "tile/entries")) {
      assertTrue(TilePath.parse(bad).isEmpty(), bad);
    }
    assertThrows(IllegalArgumentException.class, () -> TilePath.tile(0, 0, 0));
  }

  @Test
  void widthsFollowTheSpecExample() {
    // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level 0
    // tile of
    // width 112, one full level 1 tile, one partial level 1 tile of width 17, and one partial level
    // 2
    // tile of width 1."
    assertEquals(256, Tiles.width(0, 272, 70_000));
    assertEquals(112, Tiles.width(0, 273, 70_000));
    assertEquals(0, Tiles.width(0, 274, 70_000));
    assertEquals(256, Tiles.width(1, 0, 70_000));
    assertEquals(17, Tiles.width(1, 1, 70_000));
    assertEquals(1, Tiles.width(2, 0, 70_000));
    assertEquals(0, Tiles.width(3, 0, 70_000));
    assertEquals(1, Tiles.width(1, 0, 256));
  }

  @Test
  void entryBundlesRoundTripAndRefuseJunk() {
    List<byte[]> e = List.of(new byte[] {1}, new byte[0], new byte[65_535]);
    byte[] b = EntryBundle.encode(e);
    assertEquals(3, EntryBundle.parse(b, 3).size());
    assertThrows(IllegalArgumentException.class, () -> EntryBundle.parse(b, 2));
    assertThrows(IllegalArgumentException.class, () -> EntryBundle.parse(b, 4));
    assertThrows(
        IllegalArgumentException.class, () -> EntryBundle.parse(Arrays.copyOf(b, b.length - 1), 3));
  }
}
