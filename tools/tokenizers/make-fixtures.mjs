// node make-fixtures.mjs MODELS_DIR OUT_JSON SOURCE REFERENCE
// Encodes the test texts with tokenizers.js (no special tokens added: no BOS, no template) and
// writes the ids and the decoded text. Decoding skips nothing and leaves clean-up off: the
// fixture checks exact decoding, not transformers' " ." → "." tidying.
import { readFileSync, writeFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";

const [modelsDir, outPath, source, reference] = process.argv.slice(2);
const json = JSON.parse(readFileSync(`${modelsDir}/tokenizer.json`, "utf8"));
const config = JSON.parse(readFileSync(`${modelsDir}/tokenizer_config.json`, "utf8"));
const tokenizer = new Tokenizer(json, config);

// The first three special added tokens of this vocabulary, written into the text as strings.
const specials = json.added_tokens.filter((t) => t.special).slice(0, 3).map((t) => t.content);

const texts = [
  "",
  " ",
  "\n",
  "Hello",
  "The quick brown fox jumps over the lazy dog. It's 4:30 p.m., and we'll be late!",
  "I'M sure DON'T you're they've She'll he'd we'd've",
  "Pi is 3.14159265358979; 1234567890, 1,000,000, -42, 2024-06-01, 0x1F, 12.5% and 7th.",
  "Café, naïve, façade, coöperate, São Paulo, Ærøskøbing, Łódź, résumé, Straße, Ǆ.",
  "Decomposed: Cafe\u0301 and n\u0303 and A\u030a.",
  "我们在北京学习中文。日本語のテキスト、カタカナとひらがな。한국어 문장입니다.",
  "Emoji: 😀👍🏽 👨‍👩‍👧‍👦 🇺🇸 ❤️ and😀abc 🙂Ok",
  "Astral letters: 𝐇𝐞𝐥𝐥𝐨 𠀋𠀍 𓀀 and rare ꙮ ǅ ̈",
  "def f(x):\n\treturn x  *  2\n\n\n\tif x:\r\n\t\tpass\n",
  "a  b   c    d     e          end   ",
  "   leading and trailing   \n\n  ",
  "Tabs\tand\t\ttabs\t \t mixed \u00a0nbsp\u2003em\u3000ideo\u200bzwsp",
  "x+=1; y=[a**2 for a in range(10)] // <tag attr=\"v\">¡Hola! ¿Qué? — “quotes” … ©®™",
  `${specials[0]}Hello${specials[1]} world ${specials[2]}`,
  `Special ${specials[1]}${specials[1]} glued${specials[0]}text and <${specials[0]}> and ${specials[0].slice(0, -1)}`,
  "A mixed paragraph: In 1905, Einstein published 4 papers (Annus Mirabilis). 東京 is big; " +
    "naïve café-goers paid €3.50 😀.\n\tIndented line   with   gaps.\n\nThe end.",
];

const cases = texts.map((text) => {
  const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
  const decoded = ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  return { text, ids, decoded };
});

const fixture = {
  source,
  reference,
  note: "ids: tokenizers.js encode(text, {add_special_tokens: false}); decoded: decode(ids, {skip_special_tokens: false, clean_up_tokenization_spaces: false})",
  cases,
};
writeFileSync(outPath, JSON.stringify(fixture, null, 1) + "\n");
const same = cases.filter((c) => c.decoded === c.text).length;
console.log(`${outPath}: ${cases.length} texts, ${cases.reduce((n, c) => n + c.ids.length, 0)} ids, ${same} decode back to the text`);
