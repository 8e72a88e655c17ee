//! A built-in English text the synthetic tokenizer learns its merges from.
//! Written for this project; plain ASCII so that every merge is spelled in
//! the printable part of the byte-level alphabet plus `Ġ` and `Ċ`.

pub const ENGLISH: &str = "\
The morning was cold and clear, and the river ran quickly under the old stone bridge. \
A woman in a green coat stood at the rail and watched the water carry small branches \
toward the sea. She had walked this way every day for many years, and she knew the \
sound of the river in every season. In the spring it was loud and full of snow from \
the mountains; in the summer it was slow and warm; in the autumn it was covered with \
red and yellow leaves; and in the winter it was quiet under a thin sheet of ice.

On the other side of the bridge there was a small market. People came early to buy \
bread, cheese, apples, and fish. The baker had been working since four o'clock, and \
the smell of fresh bread filled the street. Children ran between the tables while \
their parents talked about the weather, the price of coffee, and the news from the \
city. An old man sold honey from his own bees, and he told anyone who would listen \
that the best honey comes from the flowers that grow near the water.

The woman crossed the bridge and bought two loaves of bread and a small jar of honey. \
She thanked the old man, and he smiled and said that she should come back next week, \
because the new honey would be ready then. She said that she would. Then she walked \
home along the river, past the houses with their blue doors and their gardens full of \
herbs, and she thought about the letter she had to write.

The letter was to her brother, who lived far away in a city by the ocean. He worked \
as an engineer and built bridges, which she found funny, because she loved the old \
bridge in her town more than any new one. She wanted to tell him that their mother \
was well, that the garden had given more tomatoes than ever before, and that the \
library had finally opened its new reading room. She also wanted to ask him when he \
would visit. It had been three years since he had been home.

When she reached the house, she made a pot of tea, cut a thick slice of bread, and \
spread it with honey. She sat at the kitchen table by the window and began to write. \
The words came slowly at first, and then more quickly, as if the river were carrying \
them. She wrote about the market, about the children and the baker, about the old man \
and his bees. She wrote that the town was changing, but not too much, and that the \
river was the same as it had always been.

Learning to read a river is like learning to read a book. At first you see only the \
surface: the color of the water, the speed of the current, the things that float past. \
After a while you begin to notice the patterns underneath. You learn where the water is \
deep and where it is shallow, where the fish like to rest, and where the current turns \
back on itself. You learn that a river is never the same twice, and yet it is always \
itself. Reading a book works the same way. The first time, you follow the story. The \
second time, you notice how the story is made.

A model that predicts the next word in a sentence must also learn patterns. It sees \
millions of sentences and counts which words tend to follow which. It learns that \
\"the\" is often followed by a noun, that \"is\" is often followed by an adjective, and \
that a question usually ends with a question mark. It does not understand the river \
or the bread or the honey, but it can learn to write sentences that sound as if it \
does. Whether that is a kind of understanding is a question that people will keep \
asking for a long time.

The numbers matter too. In 2024 the town counted 1250 people, 312 houses, 48 shops, and \
7 bridges. The river is 86 kilometers long and it falls 430 meters from the mountains \
to the sea. The market opens at 6 in the morning and closes at 2 in the afternoon. \
The library holds 25000 books, and its new reading room has 40 chairs and 12 tables.

In the evening the woman finished her letter, folded it twice, and put it in an \
envelope. She wrote her brother's name and address on the front, and she put a stamp \
in the corner. Tomorrow she would walk to the post office, which was on the same street \
as the market, and she would send it. Then she would wait for his answer, and she would \
keep walking by the river every morning, as she always had, watching the water run \
toward the sea.
";
