import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { detectJobShopFormat, parseJobShop } from "./detect.js";

const shared = new URL("../../../../data/jobshop/", import.meta.url);
const read = (url: URL) => readFileSync(url, "utf8");

describe("detectJobShopFormat", () => {
  it.each(["ft06.txt", "ft10.txt", "la01.txt", "la16.txt"])("%s is OR-Library", (file) => {
    expect(detectJobShopFormat(read(new URL(file, shared)))).toBe("orlib");
  });

  it("Taillard's layout, with or without labels", () => {
    expect(
      detectJobShopFormat(read(new URL("./fixtures/taillard/ft06.txt", import.meta.url))),
    ).toBe("taillard");
    expect(detectJobShopFormat("2 3\n4 5 6\n7 8 9\n1 2 3\n3 1 2\n")).toBe("taillard");
  });

  it("tells a square OR-Library file from a Taillard one by the permutations", () => {
    // 2 jobs x 1 machine: orlib has 2 rows "0 d"; Taillard has 4 rows of 1 number, orders "1".
    expect(detectJobShopFormat("2 1\n0 5\n0 6\n")).toBe("orlib");
    expect(detectJobShopFormat("2 1\n5\n6\n1\n1\n")).toBe("taillard");
  });

  it("is undefined for malformed or foreign text", () => {
    expect(detectJobShopFormat("")).toBeUndefined();
    expect(detectJobShopFormat("hello world\n")).toBeUndefined();
    expect(detectJobShopFormat("2 2\n0 1 1 2\n")).toBeUndefined();
    expect(detectJobShopFormat("1 2\n0 1 0 2\n")).toBeUndefined();
    expect(detectJobShopFormat("1 2\n1 2\n1 1\n")).toBeUndefined();
  });
});

describe("parseJobShop", () => {
  it("reads either layout without being told", () => {
    const orlib = parseJobShop(read(new URL("ft06.txt", shared)), "ft06.txt");
    const taillard = parseJobShop(
      read(new URL("./fixtures/taillard/ft06.txt", import.meta.url)),
      "ft06.txt",
    );
    expect(orlib.ok).toBe(true);
    expect(taillard).toEqual(orlib);
  });

  it("reports a malformed file's errors in the layout it resembles", () => {
    const orlibLike = parseJobShop("2 3\n0 1 1 2 2 3\n0 1 1 2 0 3\n", "o.txt");
    expect(!orlibLike.ok && orlibLike.error.message).toMatch(/machine 0 is repeated/);
    const taillardLike = parseJobShop("2 3\n4 5 6\n7 8 9\n1 2 3\n3 3 2\n", "t.txt");
    expect(!taillardLike.ok && taillardLike.error.message).toMatch(/not a permutation of 1\.\.3/);
    const labelled = parseJobShop("Times\n", "l.txt");
    expect(!labelled.ok && labelled.error.message).toMatch(/no header line/);
  });

  it("obeys an explicit format", () => {
    const result = parseJobShop("2 3\n4 5 6\n7 8 9\n1 2 3\n3 1 2\n", "t.txt", "orlib");
    expect(!result.ok && result.error.line).toBe(2);
  });
});
