const regexes = [
  // From Prometheus's model/labels/regexp_test.go.
  '', 'foo', '^foo', '(foo|bar)', 'foo.*', '.*foo', '^.*foo$', '^.+foo$', '.?', '.*', '.+', 'foo.+', '.+foo',
  'foo\n.+', 'foo\n.*', '.*foo.*', '.+foo.+', '.*foo.*|', '(?i).*foo.*', '.*foo.*|bar.*', 'foo.*|.*bar.*',
  '.*foo.*|.*bar.*', '.*foo.*bar.*|.*hello.*', '.*foo.*|.*bar.*|.*hello.*', '.+.*foo.*|.*bar.*', '(?s:.*)', '(?s:.+)',
  '(?s:^.*foo$)', '(?i:foo)', '(?i:(foo|bar))', '(?i:(foo1|foo2|bar))', '^(?i:foo|oo)|(bar)$',
  '((.*)(bar|b|buzz)(.+)|foo)$', '^$', '(prometheus|api_prom)_api_v1_.+', '10\\.0\\.(1|2)\\.+', '10\\.0\\.(1|2).+',
  '((fo(bar))|.+foo)', '(?i)report.scheduled.job_runscheduledreports', 'report.scheduled.job_runscheduledreports',
  'zQPbMkNO|NNSPdvMi|iWuuSoAl|qbvKMimS|IecrXtPa|seTckYqt|NxnyHkgB|fIDlOgKb|UhlWIygH|OtNoJxHG',
  '.*zQPbMkNO.*|.*NNSPdvMi.*|.*iWuuSoAl.*|.*qbvKMimS.*',
  '(?i:(zQPbMkNO|NNSPdvMi|iWuuSoAl|qbvKMimS))', '(?i:(AAAAAAAAAAAAAAAAAAAAAAAA|BBBBBBBBBBBBBBBBBBBBBBBB|cccccccccccccccccccccccC|ſſſſſſſſſſſſſſſſſſſſſſſſS|SSSSSSSSSSSSSSSSSSSSSSSSſ))',
  '(?i:(zQPbMkNO.*|NNSPdvMi.*|iWuuSoAl.*))', '(?i:(.*zQPbMkNO|.*NNSPdvMi|.*iWuuSoAl))',
  'fo.?', 'foo.?', 'f.?o', '.*foo.?', '.?foo.+', 'foo.?|bar', 'ſſs', '.*-.*-.*-.*-.*', '.+-.*-.*-.*-.+',
  '-.*-.*-.*-.*', '.*-.*-.*-.*-', '(.+)-(.+)-(.+)-(.+)-(.+)', '((.*))(?i:f)((.*))o((.*))o((.*))',
  '((.*))f((.*))(?i:o)((.*))o((.*))', '(.*0.*)', '(?i)k.*', '(?i)k-(a|b)', '(?i)(ka.+|kb.+)', '.*(?i:k)',
  'a.*(?i:sk)', '(?i:some)-pattern.*',
  // From matcher_test.go.
  'bar', '$*bar', 'bar^+', '$+bar',
  // Translator features.
  '(?i)FOO', '(?i)foo|bar', 'foo(?i)bar', '(?i:K)x', 'x(?i:k)', '(?i)[k]', '(?i:[a-c])d', '(?i)[^a]', '(?i)[[:^alpha:]]',
  '(?i)\\W', '\\W', '(?i)straße', '(?i)Σ+', '(?i)ω.*',
  '[[:alpha:]]+', '[[:^digit:]]+', '[^[:space:]]+', '[[:upper:][:digit:]]+', '[[:punct:]]', '[[:xdigit:]]+', '[[:word:]]+',
  '\\pL+', '\\p{L}+', '\\PL+', '\\p{^L}+', '\\p{Greek}+', '\\P{Greek}+', '\\p{Lu}.*', '(?i)\\p{Lu}+', '\\p{Han}+',
  '[\\p{L}\\d]+', '[^\\p{L}]+', '\\pN', '\\p{Any}+', '\\p{C}', '\\PC+', '[\\p{Greek}a]+',
  'foo\\z', '\\Afoo', '\\Qa.b\\E', '\\Qa.b', 'x\\Q*\\E+', '\\d+', '\\D+', '\\s', '\\S+', '\\w+', '[\\d\\-]+', '[\\d-z]+',
  '[]a]+', '[a-]+', '\\.', 'a.b', '(?-s:a.b)', '(?-s).+', '(?m)^foo$', '(?m:foo$)\\n?', '(?U)a+', 'a{2}', 'a{2,}', 'a{,2}',
  'a{2,3}?', 'x{', 'x{a}', '{', '}', '\\101', '\\x41', '\\x{1F600}', '\\x{1f600}+', '\\0', '\\a\\f\\t\\n\\r\\v',
  '\\bfoo\\b', '.*\\bfoo', 'foo\\B.*', '(?P<n>fo)o', '(a|b)*c', 'ab|cd|ef', '[a-c]x', '(foo|bar)baz', '.*foo.+',
  'foo.*bar', '😀.*', '.😀', '^.$', '..', '[^a]', '[^\\n]+', '()', '(|a)', 'a||b', '(?:)', '(?i)', 'a(?i)*',
  'x*?y', 'a+?b', '(ab)+', '(a*)*', '(?i)ǅ', 'ß', '(?i)ß', '(?i)ẞ', 'host-1.*', 'host-1[0-9]', '(host|node)-[0-9]+',
  '[\\x{1F600}-\\x{1F64F}]', 'a\\_b', '\\-', '[\\]]', '\\\\', '\\[\\]', 'a\\{2\\}', '[\\d-\\w]+', '(?i)i', 'x(?i:i)', '(?i)x[^i]', 'x(?i:[^i])', '(?i)[[:^lower:]]',
];
const values = [
  'foo', ' foo bar', 'bar', 'buzz\nbar', 'bar foo', 'bfoo', '\n', '\nfoo', 'foo\n', 'hello foo world', 'hello foo\n world', '',
  'FOO', 'Foo', 'fOo', 'foO', 'OO', 'Oo', '\nfoo\n', 'f'.repeat(20), 'prometheus', 'prometheus_api_v1', 'prometheus_api_v1_foo',
  '10.0.1.20', '10.0.2.10', '10.0.3.30', '10.0.4.40',
  'report.scheduled.job_runscheduledreports', 'Report.Scheduled.JobRunScheduledReports', 'Report.Scheduled.Job_RunScheduledReports',
  'foofoo0', 'foofoo', '😀foo0', 'ſſs', 'ſſS', 'AAAAAAAAAAAAAAAAAAAAAAAA', 'BBBBBBBBBBBBBBBBBBBBBBBB', 'cccccccccccccccccccccccC',
  'ſſſſſſſſſſſſſſſſſſſſſſſſS', 'SSSSSSSSSSSSSSSSSSSSSSSSſ', 'a-b-c-d-e', 'aaaaaa-bbbbbb-cccccc-dddddd-eeeeee', 'aaaaaa----eeeeee', '----', '-a-a-a-',
  'zQPbMkNO', 'zQPbMkNo', 'NNSPdvMi', 'NNSPdvMiXXX', 'NNSPdvMixxx', 'nnSPdvMi', 'nnSPdvMiXXX',
  '\u212a', '\u212aa', '\u212ab', '\u212a-a', '\u212a-abc', '\u212aelvin', 'abc\u212a', 'a\u212a', 'axſk', 'axs\u212a',
  'ſome-pattern', 'SOME-pattern', 'ſk', 'kſ',
  // More.
  'FOOBAR', 'fooBAR', 'Kx', 'kx', 'xK', 'k', 'K', 's', 'S', 'ſ', 'a', 'A', 'b', 'd', 'Ad', 'cD', 'straße', 'STRASSE', 'STRAẞE', 'ß', 'ẞ',
  'ΣΑΣ', 'σας', 'ς', 'ωmega', 'Ωmega', 'ΩMEGA', 'Ωμέγα', '日本語', '日本x', 'abc', 'ABC', 'aBc123', '123', '1a', '!', '?!', '.', ',',
  'a b', ' ', '\t', '\t\n', '\u000b', '\u00a0', 'x{', 'x{a}', 'a{,2}', '{', '}', ']a', ']]', 'a-', '-', '--', '\\', '[]', 'a{2}',
  'aa', 'aaa', 'aaaa', 'a.b', 'a\nb', 'axb', 'foo\nbar', 'foo bar', 'xfoo', 'xfoox', 'foox', 'fooxbar', 'foo-bar', 'a.foo',
  '😀', '😀😀', 'x😀', '😀foo', '\u0007\u000c\t\n\r\u000b', '\u0000', 'A', 'AB', 'n', 'ab', 'cd', 'ef', 'abcd', 'ax', 'bx', 'dx', 'c',
  'abc', 'aac', 'ababab', 'foobaz', 'barbaz', 'bazbaz', 'host-1', 'host-10', 'host-1a', 'host-2', 'node-7', 'node-', 'ǅ', 'Ǆ', 'ǆ',
  'a_b', 'a*b', 'x*', 'x**', 'ı', 'İ', 'i', 'I', 'xı', 'xİ', 'xi', 'xI', '😂', '🙏', '🚀', 'Ab', 'αβγ', 'ΑΒΓ', 'a1_', 'under_score',
];
const invalid = [
  '(', ')', 'a)', '(a', '((a)', '*', '+a', '?', 'a**', 'a*+', 'a??+', 'x{2}{3}', 'a{1001}', 'a{2,1}', '(a{500}){3}',
  '[a', '[z-a]', '[]', '[^]', '[[:foo:]]', '\\p{Foo}', '\\pX', '[\\p{Foo}]', '\\1', '(a)\\1', '\\8', '(?=a)', '(?!a)', 'a\\',
  '\\C', '\\Z', '\\q', '\\é', '(?P<>a)', '(?P<a-b>x)', '(?x)', '(?i-)', '\\x', '\\xZZ', '\\x{}', '\\x{110000}',
];
process.stdout.write(JSON.stringify({ regexes, values, invalid }));
