import { PageTitle, NotAvailable } from '../components/common';

export default function WorkItem() {
  return (
    <div>
      <PageTitle>WorkItem</PageTitle>
      <NotAvailable what="WorkItem" />
    </div>
  );
}
