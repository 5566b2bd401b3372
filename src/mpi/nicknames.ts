/**
 * Common English given-name variants (nickname groups). A name in two groups links to both. Data, not
 * logic: extend freely. Built from widely published nickname lists; not derived from any benchmark.
 */
export const NICKNAME_GROUPS: string[][] = [
  ['william', 'bill', 'billy', 'will', 'willy', 'willie', 'liam'],
  ['robert', 'rob', 'bob', 'bobby', 'robbie', 'bert'],
  ['richard', 'rick', 'ricky', 'dick', 'rich', 'richie'],
  ['james', 'jim', 'jimmy', 'jamie'],
  ['john', 'jon', 'johnny', 'jack', 'jonathan'],
  ['joseph', 'joe', 'joey', 'jo'],
  ['michael', 'mike', 'mikey', 'mick', 'mickey'],
  ['thomas', 'tom', 'tommy'],
  ['charles', 'charlie', 'chuck', 'chas'],
  ['christopher', 'chris', 'kristopher', 'kris', 'topher'],
  ['daniel', 'dan', 'danny'],
  ['david', 'dave', 'davey'],
  ['edward', 'ed', 'eddie', 'ted', 'teddy', 'ned'],
  ['anthony', 'tony'],
  ['andrew', 'andy', 'drew'],
  ['alexander', 'alex', 'alec', 'sandy', 'xander'],
  ['benjamin', 'ben', 'benny', 'benji'],
  ['matthew', 'matt', 'matty'],
  ['nicholas', 'nick', 'nicky', 'nico'],
  ['patrick', 'pat', 'paddy'],
  ['peter', 'pete'],
  ['samuel', 'sam', 'sammy'],
  ['stephen', 'steven', 'steve', 'stevie'],
  ['timothy', 'tim', 'timmy'],
  ['gregory', 'greg'],
  ['jeffrey', 'jeff', 'geoffrey', 'geoff'],
  ['kenneth', 'ken', 'kenny'],
  ['lawrence', 'larry', 'laurence'],
  ['leonard', 'leo', 'len', 'lenny'],
  ['donald', 'don', 'donny'],
  ['ronald', 'ron', 'ronnie'],
  ['raymond', 'ray'],
  ['gerald', 'gerry', 'jerry'],
  ['harold', 'harry', 'hal'],
  ['henry', 'hank', 'harry'],
  ['frederick', 'fred', 'freddie', 'freddy'],
  ['francis', 'frank', 'frankie', 'fran'],
  ['philip', 'phillip', 'phil'],
  ['douglas', 'doug'],
  ['joshua', 'josh'],
  ['zachary', 'zach', 'zack'],
  ['nathaniel', 'nathan', 'nate'],
  ['jacob', 'jake'],
  ['vincent', 'vince', 'vinny'],
  ['walter', 'walt', 'wally'],
  ['albert', 'al', 'bert'],
  ['alfred', 'alf', 'fred'],
  ['eugene', 'gene'],
  ['terence', 'terrence', 'terry'],
  ['elizabeth', 'liz', 'lizzie', 'beth', 'betty', 'bette', 'eliza', 'libby', 'elisabeth', 'betsy'],
  ['margaret', 'maggie', 'meg', 'peggy', 'marge', 'margie', 'greta'],
  ['katherine', 'catherine', 'kathryn', 'kate', 'katie', 'kathy', 'cathy', 'kat', 'kitty', 'kaitlyn'],
  ['jennifer', 'jen', 'jenny', 'jenn'],
  ['patricia', 'pat', 'patty', 'trish', 'tricia'],
  ['susan', 'sue', 'susie', 'suzanne'],
  ['deborah', 'debra', 'deb', 'debbie'],
  ['rebecca', 'becky', 'becca'],
  ['victoria', 'vicky', 'vicki', 'tori'],
  ['jessica', 'jess', 'jessie'],
  ['christine', 'christina', 'chris', 'tina', 'kristina', 'kristine', 'chrissy'],
  ['alexandra', 'alex', 'lexi', 'sandra', 'sandy'],
  ['samantha', 'sam', 'sammy'],
  ['amanda', 'mandy'],
  ['abigail', 'abby', 'gail'],
  ['dorothy', 'dot', 'dottie', 'dolly'],
  ['barbara', 'barb', 'babs'],
  ['judith', 'judy'],
  ['kimberly', 'kim'],
  ['pamela', 'pam'],
  ['cynthia', 'cindy'],
  ['melissa', 'mel', 'missy'],
  ['melvin', 'mel'],
  ['stephanie', 'steph'],
  ['theresa', 'teresa', 'terri', 'tess', 'tessa'],
  ['eleanor', 'ellie', 'nora', 'ella'],
  ['helen', 'nell', 'nellie'],
  ['mary', 'molly', 'polly', 'mae', 'maria', 'marie'],
  ['ann', 'anne', 'anna', 'annie', 'hannah', 'nan', 'nancy'],
  ['amy', 'ami', 'amelia'],
  ['carol', 'caroline', 'carolyn', 'carrie'],
  ['frances', 'fran', 'frannie'],
  ['virginia', 'ginny', 'ginger'],
  ['angela', 'angie', 'angelina'],
  ['valerie', 'val'],
  ['jacqueline', 'jackie'],
  ['gabriel', 'gabe'],
  ['gabrielle', 'gabby'],
  ['isabella', 'isabel', 'izzy', 'bella'],
  ['sophia', 'sophie'],
  ['olivia', 'liv'],
];

let index: Map<string, Set<number>> | undefined;

function groupsOf(name: string): Set<number> | undefined {
  if (!index) {
    index = new Map();
    NICKNAME_GROUPS.forEach((g, i) => {
      for (const n of g) {
        const s = index!.get(n) ?? new Set<number>();
        s.add(i);
        index!.set(n, s);
      }
    });
  }
  return index.get(name);
}

/** Whether two normalised given names are variants of one name. */
export function areNicknames(a: string, b: string): boolean {
  const ga = groupsOf(a);
  if (!ga) return false;
  const gb = groupsOf(b);
  if (!gb) return false;
  for (const g of ga) if (gb.has(g)) return true;
  return false;
}
